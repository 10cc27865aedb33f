-- why: the monthly rollup and the invoice-grain mart are two views of one reconciliation; per
-- cause, their firm-wide totals must agree to the cent, and both sides must tie to their
-- sources: the sales side to every booking in the sales system (nothing dropped or doubled),
-- the invoice side to every non-void LPM invoice at the month-end rate.
with

by_invoice as (

    select
        sum(invoice_usd) as invoice_usd, sum(sales_amount_usd) as sales_usd,
        sum(missing_in_sales_usd) as m, sum(booking_without_invoice_usd) as b,
        sum(duplicate_booking_usd) as d, sum(timing_usd) as t, sum(split_allocation_usd) as s,
        sum(rate_definition_usd) as r, sum(rounding_fx_usd) as f, sum(unexplained_usd) as u
    from {{ ref('fct_invoice_sales_variance') }}

),

by_month as (

    select
        sum(invoice_usd) as invoice_usd, sum(sales_amount_usd) as sales_usd,
        sum(missing_in_sales_usd) as m, sum(booking_without_invoice_usd) as b,
        sum(duplicate_booking_usd) as d, sum(timing_usd) as t, sum(split_allocation_usd) as s,
        sum(rate_definition_usd) as r, sum(rounding_fx_usd) as f, sum(unexplained_usd) as u
    from {{ ref('fct_sales_variance_monthly') }}

),

sources as (

    select
        (select coalesce(sum(amount_usd), 0) from {{ ref('stg_sales__revenue_bookings') }}) as sales_usd,
        (select coalesce(sum({{ to_usd('i.total_amount', 'fx.rate_to_usd') }}), 0)
         from {{ ref('int_invoices_unioned') }} as i
         left join {{ ref('int_fx_month_end_rates') }} as fx
             on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')
         where i.status <> 'void') as invoice_usd

)

select 'invoice grain vs monthly' as check_name, i.*, m.*
from by_invoice as i, by_month as m
where (i.invoice_usd, i.sales_usd, i.m, i.b, i.d, i.t, i.s, i.r, i.f, i.u)
   <> (m.invoice_usd, m.sales_usd, m.m, m.b, m.d, m.t, m.s, m.r, m.f, m.u)
union all
select 'invoice grain vs sources', i.*, m.*
from by_invoice as i, by_month as m, sources as s
where i.sales_usd <> s.sales_usd or i.invoice_usd <> s.invoice_usd
