-- grain: one row per raw_actionstep.participants row
with

source as (

    {{ source_or_empty('actionstep', 'participants', [
        ('id', 'varchar'),
        ('display_name', 'varchar'),
        ('first_name', 'varchar'),
        ('last_name', 'varchar'),
        ('email', 'varchar'),
        ('is_company', 'varchar'),
        ('is_client', 'varchar'),
        ('is_timekeeper', 'varchar'),
        ('timekeeper_id', 'varchar'),
        ('classification', 'varchar'),
        ('client_code', 'varchar'),
        ('ledes_client_id', 'varchar'),
        ('currency', 'varchar'),
        ('ebilling_platform', 'varchar'),
        ('payment_terms_days', 'bigint'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as participant_id,
        cast("display_name" as varchar) as display_name,
        cast("first_name" as varchar) as first_name,
        cast("last_name" as varchar) as last_name,
        cast("email" as varchar) as email,
        {{ tf_to_bool('"is_company"') }} as is_company,
        {{ tf_to_bool('"is_client"') }} as is_client,
        {{ tf_to_bool('"is_timekeeper"') }} as is_timekeeper,
        cast("timekeeper_id" as varchar) as timekeeper_id,
        cast("classification" as varchar) as classification,
        cast("client_code" as varchar) as client_code,
        cast("ledes_client_id" as varchar) as ledes_client_id,
        cast("currency" as varchar) as currency,
        cast("ebilling_platform" as varchar) as ebilling_platform,
        cast("payment_terms_days" as bigint) as payment_terms_days,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
