-- grain: one row per raw_actionstep.billlines row
{{
    config(
        materialized='incremental',
        unique_key='bill_line_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
with

source as (

    {{ source_or_empty('actionstep', 'billlines', [
        ('id', 'varchar'),
        ('links__bill', 'varchar'),
        ('links__timeentry', 'varchar'),
        ('links__disbursement', 'varchar'),
        ('line_number', 'varchar'),
        ('line_type', 'varchar'),
        ('date', 'date'),
        ('description', 'varchar'),
        ('quantity', 'decimal(18,4)'),
        ('unit_price', 'decimal(18,2)'),
        ('adjustment', 'decimal(18,2)'),
        ('amount', 'decimal(18,2)'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as bill_line_id,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_id('"links__timeentry"') }} as time_entry_id,
        {{ to_id('"links__disbursement"') }} as disbursement_id,
        cast("line_number" as varchar) as line_number,
        cast("line_type" as varchar) as line_type,
        cast("date" as date) as line_date,
        cast("description" as varchar) as description,
        cast("quantity" as decimal(18, 4)) as quantity,
        {{ to_money('"unit_price"') }} as unit_price,
        {{ to_money('"adjustment"') }} as adjustment,
        {{ to_money('"amount"') }} as amount,
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
