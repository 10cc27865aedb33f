-- grain: one row per leakage event (leakage_event_key) of the two time categories of
-- int_leakage_events (domain.md section 4), with its columns:
--   UNRECORDED_TIME      calendar time on a matter with no time entry (at standard rate)
--   NON_BILLABLE_TIME    non-billable or no-charge time on a billable matter (at standard rate)
-- amount_local is positive (value lost) in the row's currency; amount_usd at the month-end
-- rate of the event month. The billing categories are int_leakage_billing_events: this part
-- reads every entry, that one only billed entries.
with

time_entries as not materialized (

    -- read twice below (not billable / no charge), each time with its own pushed-down filter
    select * from {{ ref('int_time_entries_valued') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

unrecorded as (

    select * from {{ ref('int_calendar_events_unrecorded') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

unrecorded_time as (

    select
        'unrecorded:' || calendar_entry_id as leakage_event_key,
        'UNRECORDED_TIME' as leakage_category,
        event_date,
        matter_number,
        timekeeper_id,
        cast(null as varchar) as invoice_number,
        currency,
        event_hours as hours,
        unrecorded_value as amount_local,
        'calendar: ' || summary as detail
    from unrecorded
    where is_billable_matter

),

non_billable_entries as (

    -- not billable or no charge, as two disjoint parts whose filters DuckDB pushes into the scan
    -- (an OR of two columns would read every entry's columns first)
    select time_entry_key, entry_date, matter_number, timekeeper_id, hours_worked, worked_value_standard, is_no_charge
    from time_entries
    where is_billable = false and worked_value_standard > 0
    union all
    select time_entry_key, entry_date, matter_number, timekeeper_id, hours_worked, worked_value_standard, is_no_charge
    from time_entries
    where is_no_charge = true and is_billable is distinct from false and worked_value_standard > 0

),

non_billable_time as (

    select
        'non_billable:' || te.time_entry_key,
        'NON_BILLABLE_TIME',
        te.entry_date,
        te.matter_number,
        te.timekeeper_id,
        cast(null as varchar),
        cl.currency,
        te.hours_worked,
        te.worked_value_standard,
        case when te.is_no_charge then 'no charge' else 'non-billable' end
    from non_billable_entries as te
    inner join matters as m on m.matter_number = te.matter_number
    left join clients as cl on cl.client_code = m.client_code
    where m.is_billable

),

unioned as (

    select * from unrecorded_time
    union all select * from non_billable_time

),

final as (

    -- int_leakage_events' columns (the same for both parts, macros/leakage.sql)
    {{ leakage_events_enriched('unioned', 'matters', 'fx') }}

)

select * from final
