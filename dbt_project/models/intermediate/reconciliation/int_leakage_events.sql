-- grain: one row per leakage event (leakage_event_key): a piece of value lost on the way from
-- worked to collected, in one category (domain.md section 4). Two parts with the same columns,
-- split by what they read so that a daily run rebuilds only the part its changes reach:
--   int_leakage_time_events     UNRECORDED_TIME, NON_BILLABLE_TIME (reads every time entry)
--   int_leakage_billing_events  WRITE_DOWN, RATE_BELOW_STANDARD, EBILLING_REDUCTION,
--                               LATE_SUBMISSION, SHORT_PAY, AR_WRITE_OFF (only billed entries)
-- amount_local is positive (value lost) in the row's currency; amount_usd at the month-end
-- rate of the event month.
-- A view: the parts are stored once; a table would copy 440k rows at scale large (2 s of a
-- daily run's critical path) for its one model reader, fct_revenue_leakage.
{{ config(materialized='view') }}
with

time_events as (

    select * from {{ ref('int_leakage_time_events') }}

),

billing_events as (

    select * from {{ ref('int_leakage_billing_events') }}

),

final as (

    select * from time_events
    union all
    select * from billing_events

)

select * from final
