-- grain: one row per calendar entry (calendar_entry_id) on a matter with no time entry by its
-- owner on that matter that day (UNRECORDED_TIME), valued at the owner's standard rate in force
-- that day. Calendar entries come from Clio (NYC); the day is the UTC date of start_at.
with

calendar_entries as (

    select * from {{ ref('stg_clio__calendar_entries') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

time_entries as (

    -- the stored entries (one row per int_time_entries_unioned row, same columns and values):
    -- reading the view would join every entry to its matter and bill again
    select * from {{ ref('int_time_entries_valued') }}

),

rates as (

    select * from {{ ref('int_timekeeper_rates_effective') }}

),

events as (

    select
        c.calendar_entry_id,
        c.summary,
        c.start_at,
        c.end_at,
        cast(c.start_at as date) as event_date,
        cast(date_diff('minute', c.start_at, c.end_at) as decimal(18, 4)) / 60 as event_hours,
        tk.timekeeper_id,
        m.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        m.office,
        m.is_billable as is_billable_matter
    from calendar_entries as c
    inner join matters as m on m.source_system = 'clio' and m.source_matter_id = c.matter_id
    left join timekeepers as tk on tk.source_system = 'clio' and tk.source_timekeeper_id = c.user_id
    where c.matter_id is not null

),

recorded_days as (

    -- only the days of the calendar entries (a semi-join: no hash table of every entry's day)
    select distinct timekeeper_id, matter_number, entry_date
    from time_entries
    where (timekeeper_id, matter_number, entry_date) in (
        select timekeeper_id, matter_number, event_date from events
    )

),

unrecorded as (

    select e.*
    from events as e
    left join recorded_days as r
        on r.timekeeper_id = e.timekeeper_id
        and r.matter_number = e.matter_number
        and r.entry_date = e.event_date
    where r.timekeeper_id is null

),

final as (

    select
        u.calendar_entry_id,
        u.timekeeper_id,
        u.matter_number,
        u.client_code,
        u.billing_partner_timekeeper_id,
        u.office,
        u.summary,
        u.start_at,
        u.end_at,
        u.event_date,
        strftime(u.event_date, '%Y-%m') as event_month,
        u.is_billable_matter,
        cl.currency,
        cast(u.event_hours as decimal(18, 4)) as event_hours,
        r.standard_rate,
        cast(round(u.event_hours * r.standard_rate, 2) as decimal(18, 2)) as unrecorded_value
    from unrecorded as u
    left join clients as cl on cl.client_code = u.client_code
    left join rates as r
        on r.timekeeper_id = u.timekeeper_id
        and u.event_date >= r.valid_from
        and (r.valid_to is null or u.event_date < r.valid_to)

)

select * from final
