-- Why: every LEDES line must satisfy the spec's arithmetic or the platform rejects the file:
--   F/E lines: LINE_ITEM_TOTAL = UNITS x UNIT_COST + ADJUSTMENT;
--   IF/IE lines: TOTAL = ADJUSTMENT, or (Brightflag's flat-fee recipe) UNITS x UNIT_COST.
-- Tolerance var('ledes_math_tolerance') (half a cent): LEDES carries 4 places, LPMs 2.
-- Rows returned are the failing lines (stored in audit.* for the evidence pack).
{{ config(severity='error') }}

with

lines as (

    select * from {{ ref('stg_ledes__ledes_lines') }}

),

checked as (

    select
        file_name,
        record_no,
        invoice_number,
        line_item_number,
        exp_fee_inv_adj_type,
        line_item_number_of_units,
        line_item_unit_cost,
        line_item_adjustment_amount,
        line_item_total,
        case
            when exp_fee_inv_adj_type in ('F', 'E')
                then line_item_number_of_units * line_item_unit_cost + coalesce(line_item_adjustment_amount, 0)
            when exp_fee_inv_adj_type in ('IF', 'IE') and line_item_adjustment_amount is not null
                 and abs(line_item_total - line_item_adjustment_amount) <= {{ var('ledes_math_tolerance') }}
                then line_item_adjustment_amount
            when exp_fee_inv_adj_type in ('IF', 'IE')
                then coalesce(line_item_number_of_units * line_item_unit_cost, 0) + coalesce(line_item_adjustment_amount, 0)
        end as expected_total
    from lines

)

select *, line_item_total - expected_total as difference
from checked
where expected_total is null
   or line_item_total is null
   or abs(line_item_total - expected_total) > {{ var('ledes_math_tolerance') }}
