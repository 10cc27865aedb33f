-- grain: one row per raw_sales.customers row
with

source as (

    {{ source_or_empty('sales', 'customers', [
        ('customer_id', 'varchar'),
        ('name', 'varchar'),
        ('currency', 'varchar'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"customer_id"') }} as customer_id,
        cast("name" as varchar) as customer_name,
        cast("currency" as varchar) as currency,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
