-- grain: one row per raw_clio.allocations row
with

source as (

    {{ source_or_empty('clio', 'allocations', [
        ('id', 'varchar'),
        ('date', 'date'),
        ('amount', 'decimal(18,2)'),
        ('payment_type', 'varchar'),
        ('voided_at', 'timestamptz'),
        ('bill__id', 'varchar'),
        ('contact__id', 'varchar'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as allocation_id,
        cast("date" as date) as payment_date,
        {{ to_money('"amount"') }} as amount,
        cast("payment_type" as varchar) as payment_type,
        {{ to_utc('"voided_at"') }} as voided_at,
        {{ to_id('"bill__id"') }} as bill_id,
        {{ to_id('"contact__id"') }} as contact_id,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
