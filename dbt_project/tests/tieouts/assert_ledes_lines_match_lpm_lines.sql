-- Why: the LEDES file submitted for an invoice must carry the LPM bill's lines (the data
-- contract: "their lines equal the LPM's bill lines"). A LEDES line with no LPM line, an LPM
-- line of an e-billed invoice missing from LEDES, or a different line total is an exception.
-- Only invoices that have a LEDES file are compared.
with

ledes as (

    select invoice_number, line_item_number, sum(line_item_total) as ledes_total
    from {{ ref('stg_ledes__ledes_lines') }}
    group by all

),

lpm as (

    select l.invoice_number, l.line_number, l.line_total as lpm_total
    from {{ ref('fct_invoice_lines') }} as l
    where l.invoice_number in (select invoice_number from ledes)

)

select
    coalesce(ledes.invoice_number, lpm.invoice_number) as invoice_number,
    coalesce(ledes.line_item_number, lpm.line_number) as line_number,
    ledes.ledes_total,
    lpm.lpm_total
from ledes
full outer join lpm
    on lpm.invoice_number = ledes.invoice_number and lpm.line_number = ledes.line_item_number
where ledes.ledes_total is null
   or lpm.lpm_total is null
   or abs(ledes.ledes_total - lpm.lpm_total) >= 0.005
