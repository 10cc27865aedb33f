-- grain: one row per month x billing partner: lockup (WIP days + debtor days) and DSO at the
-- month end, in USD at that month's month-end rates.
--   wip_usd         billable time and expenses recorded by the month end, not yet on an invoice
--                   dated by then, not written off (recorded value)
--   ar_usd          non-void invoices dated by the month end less payments and AR write-offs dated
--                   by then
--   wip_days        wip_usd / (collections of the trailing 12 months / days in that window)
--   debtor_days     ar_usd  / (the same daily collections)
--   lockup_days     wip_days + debtor_days
--   dso_days        ar_usd  / (billings of the trailing 3 months / days in that window)
-- Windows start no earlier than the first month of data (window_days says how long they are).
-- Set-based: WIP items and AR flows are bucketed by month end and equi-joined to small tables of
-- the months each bucket counts in (with that month's rates), instead of a range join of every
-- item to every month; each item and flow is still converted to USD and rounded on its own.
with

months as (

    select distinct
        month,
        month_start,
        cast(month_start + interval 1 month - interval 1 day as date) as month_end
    from {{ ref('int_fx_month_end_rates') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

time_entries as (

    -- the stored entries with their matter's billing partner and client currency (one row per
    -- int_time_entries_unioned row): no join of 4M entries to matters and clients here
    select * from {{ ref('fct_time_entries') }}

),

expenses as (

    select * from {{ ref('int_expenses_unioned') }}

),

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

ar_write_offs as (

    select * from {{ ref('int_ar_write_offs_unioned') }}

),

first_month as (

    select min(month_start) as data_start from months

),

calendar as (

    -- every calendar month end from the first to the last month of data
    select cast(last_day(d) as date) as month_end
    from (select unnest(generate_series(min(month_start), max(month_start), interval 1 month)) as d from months)

),

calendar_bounds as (

    select min(month_end) as first_month_end, max(month_end) as last_month_end from calendar

),

wip_periods as (

    -- (entered, billed) month-end buckets -> the months in which an item of that bucket is WIP
    -- (entered by the month end, billed after it), with each currency's rate of that month;
    -- billed 9999-12-31 = not billed by the last month
    select e.month_end as entered_month_end, b.month_end as billed_month_end, mo.month, fx.currency, fx.rate_to_usd
    from calendar as e
    inner join (select month_end from calendar union all select date '9999-12-31') as b
        on b.month_end > e.month_end
    inner join months as mo on mo.month_end >= e.month_end and mo.month_end < b.month_end
    inner join fx on fx.month = mo.month

),

wip_items as (

    select te.billing_partner_timekeeper_id, te.currency, te.entry_date, te.recorded_value as amount, te.invoice_number
    from time_entries as te
    where te.is_billable and not te.is_no_charge and te.status <> 'written_off'
      and te.billing_partner_timekeeper_id is not null
    union all
    select m.billing_partner_timekeeper_id, cl.currency, ex.entry_date, ex.amount, ex.invoice_number
    from expenses as ex
    left join matters as m on m.matter_number = ex.matter_number
    left join clients as cl on cl.client_code = m.client_code
    where ex.is_billable and ex.status <> 'written_off' and m.billing_partner_timekeeper_id is not null

),

invoices_billed as (

    -- the month end from which an item on the invoice is no longer WIP
    select i.invoice_number,
           case when last_day(i.invoice_date) <= cb.last_month_end then last_day(i.invoice_date)
                else date '9999-12-31' end as billed_month_end
    from invoices as i
    cross join calendar_bounds as cb
    where i.status <> 'void' and i.invoice_date is not null

),

wip_items_bucketed as (

    -- entered before the first month counts from the first month; not billed (or billed on a
    -- void or undated invoice, or after the last month) = 9999-12-31
    select w.billing_partner_timekeeper_id, upper(w.currency) as currency, w.amount,
           greatest(last_day(w.entry_date), cb.first_month_end) as entered_month_end,
           coalesce(i.billed_month_end, date '9999-12-31') as billed_month_end
    from wip_items as w
    cross join calendar_bounds as cb
    left join invoices_billed as i on i.invoice_number = w.invoice_number
    where w.entry_date is not null

),

wip as (

    select p.month, w.billing_partner_timekeeper_id,
           sum({{ to_usd('w.amount', 'p.rate_to_usd') }}) as wip_usd
    from wip_items_bucketed as w
    inner join wip_periods as p
        on p.entered_month_end = w.entered_month_end and p.billed_month_end = w.billed_month_end
        and p.currency = w.currency
    group by all

),

invoice_flows as (

    select i.invoice_number, i.invoice_date as flow_date, i.total_amount as amount, 'billed' as flow
    from invoices as i where i.status <> 'void'
    union all
    select p.invoice_number, p.payment_date, -p.amount, 'collected'
    from payments as p where not p.is_voided
    union all
    select w.invoice_number, w.write_off_date, -w.amount, 'written_off'
    from ar_write_offs as w

),

invoice_flows_dated as (

    select f.*, i.currency, m.billing_partner_timekeeper_id
    from invoice_flows as f
    inner join invoices as i on i.invoice_number = f.invoice_number and i.status <> 'void'
    left join matters as m on m.matter_number = i.matter_number

),

ar_periods as (

    -- flow month end -> the months whose AR includes the flow (dated by the month end), with
    -- each currency's rate of that month
    select c.month_end as flow_month_end, mo.month, fx.currency, fx.rate_to_usd
    from calendar as c
    inner join months as mo on mo.month_end >= c.month_end
    inner join fx on fx.month = mo.month

),

ar_flows_bucketed as (

    -- a flow before the first month counts from the first month
    select f.billing_partner_timekeeper_id, upper(f.currency) as currency, f.amount,
           greatest(last_day(f.flow_date), cb.first_month_end) as flow_month_end
    from invoice_flows_dated as f
    cross join calendar_bounds as cb
    where f.flow_date is not null

),

ar as (

    select p.month, f.billing_partner_timekeeper_id,
           sum({{ to_usd('f.amount', 'p.rate_to_usd') }}) as ar_usd
    from ar_flows_bucketed as f
    inner join ar_periods as p
        on p.flow_month_end = f.flow_month_end and p.currency = f.currency
    group by all

),

flows_usd as (

    -- billings and collections in USD at the rate of the month they happened in
    select
        f.billing_partner_timekeeper_id,
        f.flow,
        f.flow_date,
        {{ to_usd('abs(f.amount)', 'fx.rate_to_usd') }} as amount_usd
    from invoice_flows_dated as f
    left join fx on fx.currency = upper(f.currency) and fx.month = strftime(f.flow_date, '%Y-%m')
    where f.flow in ('billed', 'collected')

),

windows as (

    select
        mo.month,
        mo.month_end,
        greatest(cast(mo.month_end - interval 12 month + interval 1 day as date), fm.data_start) as start_12m,
        greatest(cast(mo.month_start - interval 2 month as date), fm.data_start) as start_3m
    from months as mo
    cross join first_month as fm

),

trailing_flows as (

    select
        w.month,
        f.billing_partner_timekeeper_id,
        sum(case when f.flow = 'collected' and f.flow_date >= w.start_12m then f.amount_usd else 0 end)
            as collections_12m_usd,
        sum(case when f.flow = 'billed' and f.flow_date >= w.start_3m then f.amount_usd else 0 end)
            as billings_3m_usd
    from windows as w
    inner join flows_usd as f on f.flow_date <= w.month_end and f.flow_date >= least(w.start_12m, w.start_3m)
    group by all

),

partners as (

    select distinct billing_partner_timekeeper_id from matters
    where billing_partner_timekeeper_id is not null

),

grid as (

    select w.*, p.billing_partner_timekeeper_id
    from windows as w cross join partners as p

),

final as (

    select
        -- keys
        g.month || '|' || g.billing_partner_timekeeper_id as lockup_key,
        g.month,
        g.month_end,
        g.billing_partner_timekeeper_id,

        -- components (USD)
        cast(coalesce(wip.wip_usd, 0) as decimal(18, 2)) as wip_usd,
        cast(coalesce(ar.ar_usd, 0) as decimal(18, 2)) as ar_usd,
        cast(coalesce(t.collections_12m_usd, 0) as decimal(18, 2)) as collections_12m_usd,
        cast(date_diff('day', g.start_12m, g.month_end) + 1 as bigint) as collections_window_days,
        cast(coalesce(t.billings_3m_usd, 0) as decimal(18, 2)) as billings_3m_usd,
        cast(date_diff('day', g.start_3m, g.month_end) + 1 as bigint) as billings_window_days,

        -- days
        cast(case when coalesce(t.collections_12m_usd, 0) > 0 then round(
            coalesce(wip.wip_usd, 0) * (date_diff('day', g.start_12m, g.month_end) + 1)
            / t.collections_12m_usd, 1) end as decimal(18, 1)) as wip_days,
        cast(case when coalesce(t.collections_12m_usd, 0) > 0 then round(
            coalesce(ar.ar_usd, 0) * (date_diff('day', g.start_12m, g.month_end) + 1)
            / t.collections_12m_usd, 1) end as decimal(18, 1)) as debtor_days,
        cast(case when coalesce(t.collections_12m_usd, 0) > 0 then round(
            (coalesce(wip.wip_usd, 0) + coalesce(ar.ar_usd, 0)) * (date_diff('day', g.start_12m, g.month_end) + 1)
            / t.collections_12m_usd, 1) end as decimal(18, 1)) as lockup_days,
        cast(case when coalesce(t.billings_3m_usd, 0) > 0 then round(
            coalesce(ar.ar_usd, 0) * (date_diff('day', g.start_3m, g.month_end) + 1)
            / t.billings_3m_usd, 1) end as decimal(18, 1)) as dso_days
    from grid as g
    left join wip on wip.month = g.month and wip.billing_partner_timekeeper_id = g.billing_partner_timekeeper_id
    left join ar on ar.month = g.month and ar.billing_partner_timekeeper_id = g.billing_partner_timekeeper_id
    left join trailing_flows as t on t.month = g.month and t.billing_partner_timekeeper_id = g.billing_partner_timekeeper_id

)

select * from final
