-- grain: one row per time entry (time_entry_key = '<system>:<source id>') from both LPMs
-- Incremental like int_time_entries_valued (macros/incremental_delta.sql).
-- depends_on: {{ ref('stg_clio__activities') }}
-- depends_on: {{ ref('stg_actionstep__time_entries') }}
{%- set since = delta_since() %}
{{ config(**delta_model_config('time_entry')) }}
with

time_entries as (

    select * from {{ ref('int_time_entries_valued') }}
    {%- if since is not none %}
    where {{ delta_key_in('time_entry_key', since) }}
    {%- endif %}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

final as (

    select
        -- keys
        te.time_entry_key,
        te.source_system,
        te.source_entry_id,
        te.timekeeper_id,
        te.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        te.invoice_number,
        m.office,

        -- dates
        te.entry_date,
        strftime(te.entry_date, '%Y-%m') as entry_month,

        -- attributes
        te.status,
        te.is_billable,
        te.is_no_charge,
        te.task_code,
        te.activity_code,
        te.narrative,

        -- amounts
        c.currency,
        te.hours_worked,
        te.hours_billable,
        te.recorded_rate,
        te.recorded_value,
        te.standard_rate,
        te.worked_value_standard,
        cast(coalesce(te.billed_hours, 0) as decimal(18, 4)) as billed_hours,
        cast(coalesce(te.billed_amount, 0) as decimal(18, 2)) as billed_amount,
        te.billing_realization
    from time_entries as te
    left join matters as m on m.matter_number = te.matter_number
    left join clients as c on c.client_code = m.client_code

)

select * from final
