-- why: the leakage mart is a rollup; it must keep every event's money (events = mart, per
-- category, local and USD), and its categories must tie to the marts they restate: AR
-- write-offs to the AR write-offs recorded in the LPMs, unrecorded time to its detail mart.
with

events as (

    select leakage_category, sum(amount_local) as amount_local, sum(amount_usd) as amount_usd,
           count(*) as n
    from {{ ref('int_leakage_events') }}
    group by leakage_category

),

mart as (

    select leakage_category, sum(amount_local) as amount_local, sum(amount_usd) as amount_usd,
           sum(event_count) as n
    from {{ ref('fct_revenue_leakage') }}
    group by leakage_category

),

checks as (

    select 'events vs mart: ' || coalesce(e.leakage_category, m.leakage_category) as check_name,
           e.amount_local as expected, m.amount_local as actual
    from events as e
    full join mart as m using (leakage_category)
    where e.amount_local is distinct from m.amount_local
       or e.amount_usd is distinct from m.amount_usd
       or e.n is distinct from m.n

    union all

    select 'AR write-offs', w.amount, coalesce(m.amount_local, 0)
    from (select coalesce(sum(amount), 0) as amount from {{ ref('int_ar_write_offs_unioned') }}) as w
    left join mart as m on m.leakage_category = 'AR_WRITE_OFF'
    where w.amount <> coalesce(m.amount_local, 0)

    union all

    select 'unrecorded time', u.amount, coalesce(m.amount_local, 0)
    from (select coalesce(sum(unrecorded_value), 0) as amount from {{ ref('fct_unrecorded_time') }}
          where is_billable_matter) as u
    left join mart as m on m.leakage_category = 'UNRECORDED_TIME'
    where u.amount <> coalesce(m.amount_local, 0)

)

select * from checks
