-- grain: one row per raw_actionstep.timeentries row
{{
    config(
        materialized='incremental',
        unique_key='time_entry_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
with

source as (

    {{ source_or_empty('actionstep', 'timeentries', [
        ('id', 'varchar'),
        ('timestamp_date', 'date'),
        ('description', 'varchar'),
        ('actual_hours', 'decimal(18,4)'),
        ('billable_hours', 'decimal(18,4)'),
        ('billing_behavior', 'varchar'),
        ('rate_unit_price', 'decimal(18,2)'),
        ('billable_amount', 'decimal(18,2)'),
        ('is_billable', 'varchar'),
        ('links__action', 'varchar'),
        ('links__owner', 'varchar'),
        ('links__utbms_task_code', 'varchar'),
        ('links__utbms_activity_code', 'varchar'),
        ('links__bill', 'varchar'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as time_entry_id,
        cast("timestamp_date" as date) as entry_date,
        cast("description" as varchar) as narrative,
        cast("actual_hours" as decimal(18, 4)) as actual_hours,
        cast("billable_hours" as decimal(18, 4)) as billable_hours,
        cast("billing_behavior" as varchar) as billing_behavior,
        {{ to_money('"rate_unit_price"') }} as rate,
        {{ to_money('"billable_amount"') }} as billable_amount,
        {{ tf_to_bool('"is_billable"') }} as is_billable,
        {{ to_id('"links__action"') }} as action_id,
        {{ to_id('"links__owner"') }} as participant_id,
        cast("links__utbms_task_code" as varchar) as task_code,
        cast("links__utbms_activity_code" as varchar) as activity_code,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
{% if is_incremental() %}
-- incremental (a build that starts from the previous build file, e.g. the daily run): only the
-- raw rows loaded since. dlt merges on the primary key, so a new or changed record carries a
-- newer load id than every row already here, and raw never deletes a row.
where dlt_load_id > (select coalesce(max(dlt_load_id), '') from {{ this }})
{% endif %}
