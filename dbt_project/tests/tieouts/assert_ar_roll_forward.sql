-- Why: AR must roll forward month by month per currency, to the cent:
--   opening AR + billed - collected - written off = closing AR,
-- and each month's opening is the previous month's closing.
-- Opening/closing come from the fct_ar_aging month-end snapshots, the movements from the event
-- facts (fct_invoices, fct_payments, fct_write_offs), so this checks one against the other.
with

roll_forward as (

    select
        *,
        coalesce(lag(closing_ar_amount) over (partition by currency order by month_end), 0)
            as previous_closing_ar_amount
    from {{ ref('fct_ar_roll_forward') }}

)

select *
from roll_forward
where opening_ar_amount + billed_amount - collected_amount - written_off_amount <> closing_ar_amount
   or opening_ar_amount <> previous_closing_ar_amount
