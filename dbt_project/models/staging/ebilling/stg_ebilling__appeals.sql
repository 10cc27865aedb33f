-- grain: one row per raw_ebilling.appeals row
with

source as (

    {{ source_or_empty('ebilling', 'appeals', [
        ('id', 'varchar'),
        ('invoice_id', 'varchar'),
        ('invoice_number', 'varchar'),
        ('adjustment_id', 'varchar'),
        ('submitted_at', 'timestamptz'),
        ('outcome', 'varchar'),
        ('amount_recovered', 'decimal(18,2)'),
        ('last_modified', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as appeal_id,
        {{ to_id('"invoice_id"') }} as ebilling_invoice_id,
        cast("invoice_number" as varchar) as invoice_number,
        {{ to_id('"adjustment_id"') }} as adjustment_id,
        {{ to_utc('"submitted_at"') }} as submitted_at,
        cast("outcome" as varchar) as outcome,
        {{ to_money('"amount_recovered"') }} as amount_recovered,
        {{ to_utc('"last_modified"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
