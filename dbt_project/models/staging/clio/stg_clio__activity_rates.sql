-- grain: one row per raw_clio.activity_rates row
with

source as (

    {{ source_or_empty('clio', 'activity_rates', [
        ('id', 'varchar'),
        ('user__id', 'varchar'),
        ('rate', 'decimal(18,2)'),
        ('effective_date', 'date'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as activity_rate_id,
        {{ to_id('"user__id"') }} as user_id,
        {{ to_money('"rate"') }} as rate,
        cast("effective_date" as date) as effective_date,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
