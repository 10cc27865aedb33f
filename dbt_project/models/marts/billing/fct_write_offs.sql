-- grain: one row per write-down or write-off (write_off_key): pre-bill write-downs (line
-- discounts, WIP written off), e-billing reductions, AR write-offs; amount > 0 is value lost
with

write_offs as (

    select * from {{ ref('int_write_offs_unioned') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

reasons as (

    select distinct reason_code, reason_label from {{ ref('ebilling_reason_patterns') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

final as (

    select
        -- keys
        w.write_off_key,
        w.write_off_type,
        w.write_off_source,
        w.invoice_number,
        w.line_number,
        w.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        w.timekeeper_id,
        m.office,

        -- dates
        w.write_off_date,
        i.invoice_date,
        greatest(w.write_off_date, i.invoice_date) as ar_effective_date,

        -- attributes
        w.reason_text,
        w.reason_code,
        coalesce(r.reason_label, case w.reason_code
            when 'DISCOUNT' then 'Discount on the invoice line before billing'
            when 'WIP_WRITTEN_OFF' then 'Unbilled work written off'
            when 'AR_WRITE_OFF' then 'Billed balance written off' end) as reason_label,

        -- amounts
        coalesce(w.currency, c.currency) as currency,
        w.amount,
        w.amount_recovered,
        cast(w.amount - w.amount_recovered as decimal(18, 2)) as net_amount,
        {{ to_usd('w.amount', 'fx.rate_to_usd') }} as amount_usd
    from write_offs as w
    left join invoices as i on i.invoice_number = w.invoice_number
    left join matters as m on m.matter_number = w.matter_number
    left join clients as c on c.client_code = m.client_code
    left join reasons as r on r.reason_code = w.reason_code
    left join fx
        on fx.currency = upper(coalesce(w.currency, c.currency))
        -- the month the value was lost: the write-off's own month-end rate (not the invoice's)
        and fx.month = strftime(coalesce(w.write_off_date, i.invoice_date), '%Y-%m')

)

select * from final
