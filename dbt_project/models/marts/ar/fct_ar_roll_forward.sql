-- grain: one row per month and currency: opening AR, billed, collected, written off and closing
-- AR, in the invoice currency. Opening and closing come from the fct_ar_aging month-end
-- snapshots; billed, collected and written off from the event facts. The tie-out test
-- ar_roll_forward asserts opening + billed - collected - written_off = closing to the cent.
with

aging as (

    select * from {{ ref('fct_ar_aging') }}

),

invoices as (

    select * from {{ ref('fct_invoices') }} where not is_void

),

payments as (

    select p.*
    from {{ ref('fct_payments') }} as p
    inner join invoices as i on i.invoice_number = p.invoice_number
    where not p.is_voided

),

write_offs as (

    select w.*
    from {{ ref('fct_write_offs') }} as w
    inner join invoices as i on i.invoice_number = w.invoice_number
    where w.write_off_type = 'ar_write_off'

),

month_ends as (

    select as_of_date as month_end
    from (
        {{ ar_month_end_dates(ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned')) }}
    )
    where as_of_date = last_day(as_of_date)

),

currencies as (

    select distinct currency from invoices

),

grid as (

    select m.month_end, cast(date_trunc('month', m.month_end) as date) as month_start, c.currency
    from month_ends as m
    cross join currencies as c

),

closing as (

    select as_of_date, currency, sum(open_amount) as amount
    from aging
    group by all

),

billed as (

    select last_day(invoice_date) as month_end, currency, sum(total_amount) as amount
    from invoices
    group by all

),

collected as (

    select last_day(ar_effective_date) as month_end, currency, sum(amount) as amount
    from payments
    group by all

),

written_off as (

    select last_day(ar_effective_date) as month_end, currency, sum(amount) as amount
    from write_offs
    group by all

),

final as (

    select
        -- keys
        strftime(g.month_end, '%Y-%m') as year_month,
        g.currency,

        -- dates
        g.month_start,
        g.month_end,

        -- amounts
        cast(coalesce(op.amount, 0) as decimal(18, 2)) as opening_ar_amount,
        cast(coalesce(b.amount, 0) as decimal(18, 2)) as billed_amount,
        cast(coalesce(co.amount, 0) as decimal(18, 2)) as collected_amount,
        cast(coalesce(w.amount, 0) as decimal(18, 2)) as written_off_amount,
        cast(coalesce(cl.amount, 0) as decimal(18, 2)) as closing_ar_amount,
        cast(coalesce(op.amount, 0) + coalesce(b.amount, 0) - coalesce(co.amount, 0)
             - coalesce(w.amount, 0) - coalesce(cl.amount, 0) as decimal(18, 2)) as roll_forward_difference
    from grid as g
    left join closing as op on op.as_of_date = g.month_start - 1 and op.currency = g.currency
    left join closing as cl on cl.as_of_date = g.month_end and cl.currency = g.currency
    left join billed as b on b.month_end = g.month_end and b.currency = g.currency
    left join collected as co on co.month_end = g.month_end and co.currency = g.currency
    left join written_off as w on w.month_end = g.month_end and w.currency = g.currency

)

select * from final
