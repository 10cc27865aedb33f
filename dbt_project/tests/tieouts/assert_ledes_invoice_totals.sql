-- Why: the LEDES spec requires INVOICE_TOTAL = sum of LINE_ITEM_TOTAL per INVOICE_NUMBER, and
-- the invoice header must be the same on every line of the invoice (only the first counts).
-- Rows returned are invoices whose total does not tie out, to the cent.
with

invoices as (

    select * from {{ ref('int_ledes_invoices_summarised') }}

),

lines as (

    select invoice_number, count(distinct invoice_total) as distinct_totals
    from {{ ref('stg_ledes__ledes_lines') }}
    group by invoice_number

)

select i.invoice_number, i.invoice_total, i.sum_line_item_total,
       i.invoice_total - i.sum_line_item_total as difference, l.distinct_totals
from invoices as i
inner join lines as l on l.invoice_number = i.invoice_number
where i.invoice_total is null
   or abs(i.invoice_total - i.sum_line_item_total) >= 0.005
   or l.distinct_totals > 1
