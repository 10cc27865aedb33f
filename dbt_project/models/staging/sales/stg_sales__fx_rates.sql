-- grain: one row per raw_sales.fx_rates row
with

source as (

    {{ source_or_empty('sales', 'fx_rates', [
        ('currency', 'varchar'),
        ('month', 'varchar'),
        ('rate_to_usd', 'decimal(18,6)'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        cast("currency" as varchar) as currency,
        cast("month" as varchar) as month,
        cast("rate_to_usd" as decimal(18, 6)) as rate_to_usd,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
