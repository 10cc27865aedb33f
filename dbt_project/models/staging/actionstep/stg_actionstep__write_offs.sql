-- grain: one row per raw_actionstep.writeoffs row
with

source as (

    {{ source_or_empty('actionstep', 'writeoffs', [
        ('id', 'varchar'),
        ('date', 'date'),
        ('amount', 'decimal(18,2)'),
        ('reason', 'varchar'),
        ('links__bill', 'varchar'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as write_off_id,
        cast("date" as date) as write_off_date,
        {{ to_money('"amount"') }} as amount,
        cast("reason" as varchar) as reason,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
