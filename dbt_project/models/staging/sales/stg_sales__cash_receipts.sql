-- grain: one row per raw_sales.cash_receipts row
with

source as (

    {{ source_or_empty('sales', 'cash_receipts', [
        ('receipt_id', 'varchar'),
        ('invoice_ref', 'varchar'),
        ('customer_id', 'varchar'),
        ('received_date', 'date'),
        ('currency', 'varchar'),
        ('amount_local', 'decimal(18,2)'),
        ('amount_usd', 'decimal(18,2)'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"receipt_id"') }} as receipt_id,
        cast("invoice_ref" as varchar) as invoice_number,
        {{ to_id('"customer_id"') }} as customer_id,
        cast("received_date" as date) as received_date,
        cast("currency" as varchar) as currency,
        {{ to_money('"amount_local"') }} as amount_local,
        {{ to_money('"amount_usd"') }} as amount_usd,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
