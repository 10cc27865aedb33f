-- grain: one row per time entry (time_entry_key = '<system>:<source id>') from both LPMs
-- A view over the staged entries (4M rows with narratives at scale large): every reader takes
-- only the columns it needs; int_time_entries_valued and fct_time_entries hold the rows.
{{ config(materialized='view') }}
with

clio_activities as (

    select * from {{ ref('stg_clio__activities') }}

),

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

clio_matters as (

    select * from {{ ref('stg_clio__matters') }}

),

actionstep_time_entries as (

    select * from {{ ref('stg_actionstep__time_entries') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

actionstep_actions as (

    select * from {{ ref('stg_actionstep__actions') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

clio as (

    select
        'clio:' || a.activity_id as time_entry_key,
        'clio' as source_system,
        a.activity_id as source_entry_id,
        a.entry_date,
        tk.timekeeper_id,
        m.matter_number,
        coalesce(a.hours, cast(a.quantity / 3600 as decimal(18, 4))) as hours_worked,
        case when a.is_non_billable or a.is_no_charge then cast(0 as decimal(18, 4))
             else coalesce(a.hours, cast(a.quantity / 3600 as decimal(18, 4))) end as hours_billable,
        a.price as recorded_rate,
        a.total as recorded_value,
        a.narrative,
        a.task_code,
        a.activity_code,
        not (coalesce(a.is_non_billable, false) or coalesce(a.is_no_charge, false)) as is_billable,
        coalesce(a.is_no_charge, false) as is_no_charge,
        a.status,
        a.bill_id as source_bill_id,
        b.invoice_number
    from clio_activities as a
    left join clio_matters as m on m.matter_id = a.matter_id
    left join clio_bills as b on b.bill_id = a.bill_id
    left join timekeepers as tk on tk.source_system = 'clio' and tk.source_timekeeper_id = a.user_id
    where a.activity_type = 'TimeEntry'

),

actionstep as (

    select
        'actionstep:' || t.time_entry_id,
        'actionstep',
        t.time_entry_id,
        t.entry_date,
        tk.timekeeper_id,
        m.matter_number,
        t.actual_hours,
        case when t.billing_behavior = 'Bill' and coalesce(t.is_billable, true) then t.billable_hours
             else cast(0 as decimal(18, 4)) end,
        t.rate,
        -- 'No charge' and 'Hide' entries carry billable_amount 0: their recorded value is
        -- hours x rate, so a no-charge (written-off) entry shows what was given away
        case when t.billing_behavior = 'Bill' then t.billable_amount
             else cast(round(t.actual_hours * t.rate, 2) as decimal(18, 2)) end,
        t.narrative,
        t.task_code,
        t.activity_code,
        t.billing_behavior = 'Bill' and coalesce(t.is_billable, true),
        t.billing_behavior = 'No charge',
        -- Actionstep records written-off WIP as 'No charge' entries (never on a bill)
        case when t.bill_id is not null then 'billed'
             when t.billing_behavior = 'No charge' then 'written_off'
             else 'unbilled' end,
        t.bill_id,
        b.invoice_number
    from actionstep_time_entries as t
    left join actionstep_actions as m on m.action_id = t.action_id
    left join actionstep_bills as b on b.bill_id = t.bill_id
    left join timekeepers as tk
        on tk.source_system = 'actionstep' and tk.source_timekeeper_id = t.participant_id

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
