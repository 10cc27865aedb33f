-- grain: one row per invoice (fct_invoices), with the sum of its LPM lines
-- The evidence page's "invoice subtotal = sum of lines" tie-out reads this instead of joining
-- fct_invoices to the 3.5M-row fct_invoice_lines on every request.
with lines as (

    select invoice_number, count(*) as line_count, sum(line_total) as lines_total
    from {{ ref('fct_invoice_lines') }}
    group by invoice_number

)

select
    i.invoice_number,
    i.invoice_date,
    i.invoice_month,
    i.billing_partner_timekeeper_id,
    i.office,
    i.client_code,
    i.matter_number,
    i.is_void,
    i.subtotal_amount,
    cast(coalesce(l.lines_total, 0) as decimal(18, 2)) as lines_total,
    cast(coalesce(l.line_count, 0) as bigint) as line_count,
    cast(i.subtotal_amount - coalesce(l.lines_total, 0) as decimal(18, 2)) as subtotal_minus_lines
from {{ ref('fct_invoices') }} i
left join lines l on l.invoice_number = i.invoice_number
