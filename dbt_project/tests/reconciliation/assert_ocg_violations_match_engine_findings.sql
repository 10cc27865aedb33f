-- why: fct_ocg_violations must carry exactly the findings the rules engine reported (the same
-- ones `lexrecon check` prints for these files): none dropped by a join, none doubled, and
-- every line-level finding attached to its LEDES line (timekeeper, date) so it can be chased.
with

engine as (

    select file_name, invoice_number, coalesce(line_item_number, '') as line_item_number,
           rule_code, amount_at_risk
    from {{ ref('int_ocg_findings_evaluated') }}

),

mart as (

    select file_name, invoice_number, coalesce(line_item_number, '') as line_item_number,
           rule_code, amount_at_risk, line_date, record_no
    from {{ ref('fct_ocg_violations') }}

)

select 'missing from mart' as problem, e.file_name, e.invoice_number, e.line_item_number, e.rule_code
from engine as e
anti join mart as m using (file_name, invoice_number, line_item_number, rule_code)
union all
select 'not from engine', m.file_name, m.invoice_number, m.line_item_number, m.rule_code
from mart as m
anti join engine as e using (file_name, invoice_number, line_item_number, rule_code)
union all
select 'amount changed', m.file_name, m.invoice_number, m.line_item_number, m.rule_code
from mart as m
inner join engine as e using (file_name, invoice_number, line_item_number, rule_code)
where m.amount_at_risk is distinct from e.amount_at_risk
union all
select 'line not found', file_name, invoice_number, line_item_number, rule_code
from mart
where line_item_number <> '' and line_date is null
