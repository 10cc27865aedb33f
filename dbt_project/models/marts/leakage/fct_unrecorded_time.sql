-- grain: one row per calendar entry (calendar_entry_id) on a matter with no time entry by its
-- owner on that matter that day: the detail behind UNRECORDED_TIME in fct_revenue_leakage.
with

unrecorded as (

    select * from {{ ref('int_calendar_events_unrecorded') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

final as (

    select
        -- keys
        u.calendar_entry_id,
        u.timekeeper_id,
        u.matter_number,
        u.client_code,
        u.billing_partner_timekeeper_id,
        u.office,

        -- dates
        u.event_date,
        u.event_month,
        u.start_at,
        u.end_at,

        -- event
        u.summary,
        u.is_billable_matter,

        -- amounts
        u.event_hours,
        u.currency,
        u.standard_rate,
        u.unrecorded_value,
        {{ to_usd('u.unrecorded_value', 'fx.rate_to_usd') }} as unrecorded_value_usd
    from unrecorded as u
    left join fx on fx.currency = upper(u.currency) and fx.month = u.event_month

)

select * from final
