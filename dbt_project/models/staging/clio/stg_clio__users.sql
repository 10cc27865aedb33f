-- grain: one row per raw_clio.users row
with

source as (

    {{ source_or_empty('clio', 'users', [
        ('id', 'varchar'),
        ('name', 'varchar'),
        ('first_name', 'varchar'),
        ('last_name', 'varchar'),
        ('email', 'varchar'),
        ('timekeeper_id', 'varchar'),
        ('classification', 'varchar'),
        ('subscription_type', 'varchar'),
        ('rate', 'decimal(18,2)'),
        ('enabled', 'boolean'),
        ('created_at', 'timestamptz'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as user_id,
        cast("name" as varchar) as user_name,
        cast("first_name" as varchar) as first_name,
        cast("last_name" as varchar) as last_name,
        cast("email" as varchar) as email,
        cast("timekeeper_id" as varchar) as timekeeper_id,
        cast("classification" as varchar) as classification,
        cast("subscription_type" as varchar) as subscription_type,
        {{ to_money('"rate"') }} as current_rate,
        cast("enabled" as boolean) as is_enabled,
        {{ to_utc('"created_at"') }} as created_at,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
