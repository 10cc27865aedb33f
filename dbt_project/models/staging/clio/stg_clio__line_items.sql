-- grain: one row per raw_clio.line_items row
{{
    config(
        materialized='incremental',
        unique_key='line_item_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
with

source as (

    {{ source_or_empty('clio', 'line_items', [
        ('id', 'varchar'),
        ('bill__id', 'varchar'),
        ('activity__id', 'varchar'),
        ('matter__id', 'varchar'),
        ('user__id', 'varchar'),
        ('type', 'varchar'),
        ('kind', 'varchar'),
        ('line_number', 'varchar'),
        ('date', 'date'),
        ('description', 'varchar'),
        ('quantity', 'decimal(18,4)'),
        ('price', 'decimal(18,2)'),
        ('discount', 'decimal(18,2)'),
        ('total', 'decimal(18,2)'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as line_item_id,
        {{ to_id('"bill__id"') }} as bill_id,
        {{ to_id('"activity__id"') }} as activity_id,
        {{ to_id('"matter__id"') }} as matter_id,
        {{ to_id('"user__id"') }} as user_id,
        cast("type" as varchar) as line_item_type,
        cast("kind" as varchar) as kind,
        cast("line_number" as varchar) as line_number,
        cast("date" as date) as line_date,
        cast("description" as varchar) as description,
        cast("quantity" as decimal(18, 4)) as quantity,
        {{ to_money('"price"') }} as price,
        {{ to_money('"discount"') }} as adjustment,
        {{ to_money('"total"') }} as total,
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
