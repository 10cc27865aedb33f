-- grain: one row per raw_clio.contacts row
with

source as (

    {{ source_or_empty('clio', 'contacts', [
        ('id', 'varchar'),
        ('name', 'varchar'),
        ('type', 'varchar'),
        ('is_client', 'boolean'),
        ('client_code', 'varchar'),
        ('ledes_client_id', 'varchar'),
        ('currency', 'varchar'),
        ('ebilling_platform', 'varchar'),
        ('payment_terms_days', 'bigint'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as contact_id,
        cast("name" as varchar) as contact_name,
        cast("type" as varchar) as contact_type,
        cast("is_client" as boolean) as is_client,
        cast("client_code" as varchar) as client_code,
        cast("ledes_client_id" as varchar) as ledes_client_id,
        cast("currency" as varchar) as currency,
        cast("ebilling_platform" as varchar) as ebilling_platform,
        cast("payment_terms_days" as bigint) as payment_terms_days,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
