-- grain: one row per LPM payment applied to an invoice (payment_key); voided payments kept
-- with is_voided = true and excluded from AR
with

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

final as (

    select
        -- keys
        p.payment_key,
        p.source_system,
        p.source_payment_id,
        p.invoice_number,
        i.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        i.office,

        -- dates
        p.payment_date,
        i.invoice_date,
        greatest(p.payment_date, i.invoice_date) as ar_effective_date,
        cast(p.payment_date - i.invoice_date as integer) as days_to_pay,

        -- attributes
        p.payment_type,
        p.is_voided,

        -- amounts
        p.currency,
        p.amount,
        fx.rate_to_usd as invoice_fx_rate_to_usd,
        {{ to_usd('p.amount', 'fx.rate_to_usd') }} as amount_usd
    from payments as p
    left join invoices as i on i.invoice_number = p.invoice_number
    left join matters as m on m.matter_number = i.matter_number
    left join fx
        on fx.currency = upper(p.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')

)

select * from final
