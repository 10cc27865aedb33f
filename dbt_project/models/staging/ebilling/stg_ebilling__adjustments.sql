-- grain: one row per raw_ebilling.adjustments row
with

source as (

    {{ source_or_empty('ebilling', 'adjustments', [
        ('id', 'varchar'),
        ('invoice_id', 'varchar'),
        ('invoice_number', 'varchar'),
        ('line_item_number', 'varchar'),
        ('type', 'varchar'),
        ('amount', 'decimal(18,2)'),
        ('reason', 'varchar'),
        ('adjuster_name', 'varchar'),
        ('date_time', 'timestamptz'),
        ('last_modified', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as adjustment_id,
        {{ to_id('"invoice_id"') }} as ebilling_invoice_id,
        cast("invoice_number" as varchar) as invoice_number,
        cast("line_item_number" as varchar) as line_item_number,
        cast("type" as varchar) as adjustment_type,
        {{ to_money('"amount"') }} as amount,
        cast("reason" as varchar) as reason_text,
        cast("adjuster_name" as varchar) as adjuster_name,
        {{ to_utc('"date_time"') }} as adjusted_at,
        {{ to_utc('"last_modified"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
