-- grain: one row per raw_ebilling.payments row
with

source as (

    {{ source_or_empty('ebilling', 'payments', [
        ('payment_number', 'varchar'),
        ('invoice_number', 'varchar'),
        ('payment_date', 'date'),
        ('amount', 'decimal(18,2)'),
        ('currency', 'varchar'),
        ('status', 'varchar'),
        ('last_modified', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"payment_number"') }} as payment_number,
        cast("invoice_number" as varchar) as invoice_number,
        cast("payment_date" as date) as payment_date,
        {{ to_money('"amount"') }} as amount,
        cast("currency" as varchar) as currency,
        cast("status" as varchar) as status,
        {{ to_utc('"last_modified"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
