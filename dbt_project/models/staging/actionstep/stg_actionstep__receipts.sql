-- grain: one row per raw_actionstep.receipts row
with

source as (

    {{ source_or_empty('actionstep', 'receipts', [
        ('id', 'varchar'),
        ('date', 'date'),
        ('amount', 'decimal(18,2)'),
        ('links__bill', 'varchar'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as receipt_id,
        cast("date" as date) as payment_date,
        {{ to_money('"amount"') }} as amount,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
