-- grain: one row per LPM invoice (invoice_number), void invoices included (status = 'void')
with

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

ar_write_offs as (

    select * from {{ ref('int_ar_write_offs_unioned') }}

),

matched as (

    select * from {{ ref('int_invoices_matched') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

line_totals as (

    select
        invoice_number,
        count(*) as line_count,
        sum(case when line_type in ('F', 'IF') then line_total else 0 end) as fees_amount,
        sum(case when line_type in ('E', 'IE') then line_total else 0 end) as expenses_amount,
        sum(line_total) as lines_amount
    from lines
    group by invoice_number

),

paid as (

    select invoice_number, sum(amount) as paid_amount
    from payments
    where not is_voided
    group by invoice_number

),

written_off as (

    select invoice_number, sum(amount) as written_off_amount
    from ar_write_offs
    group by invoice_number

),

final as (

    select
        -- keys
        i.invoice_number,
        i.source_system,
        i.source_bill_id,
        i.matter_number,
        m.client_code,
        i.payer_client_code,
        m.billing_partner_timekeeper_id,
        i.office,

        -- dates
        i.invoice_date,
        i.due_date,
        strftime(i.invoice_date, '%Y-%m') as invoice_month,
        i.billing_start_date,
        i.billing_end_date,

        -- status
        i.status,
        i.source_status,
        i.status = 'void' as is_void,
        mt.ebilling_platform,
        mt.ebilling_status,
        mt.is_in_ledes,
        mt.is_in_sales,
        mt.match_status,

        -- amounts
        i.currency,
        cast(coalesce(lt.line_count, 0) as bigint) as line_count,
        cast(coalesce(lt.fees_amount, 0) as decimal(18, 2)) as fees_amount,
        cast(coalesce(lt.expenses_amount, 0) as decimal(18, 2)) as expenses_amount,
        i.subtotal_amount,
        i.tax_amount,
        i.total_amount,
        i.split_percentage,
        fx.rate_to_usd as fx_rate_to_usd,
        {{ to_usd('i.total_amount', 'fx.rate_to_usd') }} as total_amount_usd,
        cast(coalesce(p.paid_amount, 0) as decimal(18, 2)) as paid_amount,
        cast(coalesce(w.written_off_amount, 0) as decimal(18, 2)) as written_off_amount,
        cast(case when i.status = 'void' then 0
                  else i.total_amount - coalesce(p.paid_amount, 0) - coalesce(w.written_off_amount, 0)
             end as decimal(18, 2)) as open_amount,
        mt.ebilling_submitted_total,
        mt.ebilling_approved_total
    from invoices as i
    left join matters as m on m.matter_number = i.matter_number
    left join line_totals as lt on lt.invoice_number = i.invoice_number
    left join paid as p on p.invoice_number = i.invoice_number
    left join written_off as w on w.invoice_number = i.invoice_number
    left join matched as mt on mt.invoice_number = i.invoice_number
    left join fx
        on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')

)

select * from final
