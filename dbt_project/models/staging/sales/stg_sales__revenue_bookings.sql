-- grain: one row per raw_sales.revenue_bookings row
with

source as (

    {{ source_or_empty('sales', 'revenue_bookings', [
        ('booking_id', 'varchar'),
        ('invoice_ref', 'varchar'),
        ('customer_id', 'varchar'),
        ('matter_ref', 'varchar'),
        ('office', 'varchar'),
        ('partner_code', 'varchar'),
        ('booking_date', 'date'),
        ('period', 'varchar'),
        ('currency', 'varchar'),
        ('fees_local', 'decimal(18,2)'),
        ('expenses_local', 'decimal(18,2)'),
        ('amount_local', 'decimal(18,2)'),
        ('split_percentage', 'decimal(18,4)'),
        ('fx_rate', 'decimal(18,6)'),
        ('amount_usd', 'decimal(18,2)'),
        ('request_id', 'varchar'),
        ('created_at', 'timestamptz'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"booking_id"') }} as booking_id,
        cast("invoice_ref" as varchar) as invoice_number,
        {{ to_id('"customer_id"') }} as customer_id,
        cast("matter_ref" as varchar) as matter_number,
        cast("office" as varchar) as office,
        cast("partner_code" as varchar) as billing_partner_timekeeper_id,
        cast("booking_date" as date) as booking_date,
        cast("period" as varchar) as period,
        cast("currency" as varchar) as currency,
        {{ to_money('"fees_local"') }} as fees_local,
        {{ to_money('"expenses_local"') }} as expenses_local,
        {{ to_money('"amount_local"') }} as amount_local,
        cast("split_percentage" as decimal(18, 4)) as split_percentage,
        cast("fx_rate" as decimal(18, 6)) as fx_rate,
        {{ to_money('"amount_usd"') }} as amount_usd,
        cast("request_id" as varchar) as request_id,
        {{ to_utc('"created_at"') }} as created_at,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
