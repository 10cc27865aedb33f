-- grain: one row per raw_actionstep.rates row
with

source as (

    {{ source_or_empty('actionstep', 'rates', [
        ('id', 'varchar'),
        ('links__owner', 'varchar'),
        ('rate', 'decimal(18,2)'),
        ('effective_date', 'date'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as rate_id,
        {{ to_id('"links__owner"') }} as participant_id,
        {{ to_money('"rate"') }} as rate,
        cast("effective_date" as date) as effective_date,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
