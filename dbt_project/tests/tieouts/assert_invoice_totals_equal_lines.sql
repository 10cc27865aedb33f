-- Why: an LPM invoice's subtotal must equal the sum of its lines, and its total = subtotal + tax,
-- to the cent; otherwise the invoice file and the ledger disagree before any other system.
-- Void invoices are included: a voided bill still had to add up when issued.
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

lines as (

    select invoice_number, sum(line_total) as lines_total, count(*) as line_count
    from {{ ref('fct_invoice_lines') }}
    group by invoice_number

)

select
    i.invoice_number,
    i.subtotal_amount,
    coalesce(l.lines_total, 0) as lines_total,
    i.tax_amount,
    i.total_amount,
    i.subtotal_amount - coalesce(l.lines_total, 0) as subtotal_difference,
    i.total_amount - i.subtotal_amount - coalesce(i.tax_amount, 0) as total_difference
from invoices as i
left join lines as l on l.invoice_number = i.invoice_number
where i.subtotal_amount <> coalesce(l.lines_total, 0)
   or i.total_amount <> i.subtotal_amount + coalesce(i.tax_amount, 0)
