-- grain: one row per raw_clio.activities row
{{
    config(
        materialized='incremental',
        unique_key='activity_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
with

source as (

    {{ source_or_empty('clio', 'activities', [
        ('id', 'varchar'),
        ('etag', 'varchar'),
        ('type', 'varchar'),
        ('date', 'date'),
        ('quantity', 'decimal(18,4)'),
        ('quantity_in_hours', 'decimal(18,4)'),
        ('price', 'decimal(18,2)'),
        ('total', 'decimal(18,2)'),
        ('note', 'varchar'),
        ('non_billable', 'boolean'),
        ('no_charge', 'boolean'),
        ('status', 'varchar'),
        ('utbms_task__code', 'varchar'),
        ('utbms_activity__code', 'varchar'),
        ('utbms_expense__code', 'varchar'),
        ('matter__id', 'varchar'),
        ('user__id', 'varchar'),
        ('bill__id', 'varchar'),
        ('created_at', 'timestamptz'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as activity_id,
        cast("etag" as varchar) as etag,
        cast("type" as varchar) as activity_type,
        cast("date" as date) as entry_date,
        cast("quantity" as decimal(18, 4)) as quantity,
        cast("quantity_in_hours" as decimal(18, 4)) as hours,
        {{ to_money('"price"') }} as price,
        {{ to_money('"total"') }} as total,
        cast("note" as varchar) as narrative,
        cast("non_billable" as boolean) as is_non_billable,
        cast("no_charge" as boolean) as is_no_charge,
        cast("status" as varchar) as status,
        cast("utbms_task__code" as varchar) as task_code,
        cast("utbms_activity__code" as varchar) as activity_code,
        cast("utbms_expense__code" as varchar) as expense_code,
        {{ to_id('"matter__id"') }} as matter_id,
        {{ to_id('"user__id"') }} as user_id,
        {{ to_id('"bill__id"') }} as bill_id,
        {{ to_utc('"created_at"') }} as created_at,
        {{ to_utc('"updated_at"') }} as updated_at,
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
