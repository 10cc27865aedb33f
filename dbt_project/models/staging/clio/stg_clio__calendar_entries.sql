-- grain: one row per raw_clio.calendar_entries row
with

source as (

    {{ source_or_empty('clio', 'calendar_entries', [
        ('id', 'varchar'),
        ('summary', 'varchar'),
        ('start_at', 'timestamptz'),
        ('end_at', 'timestamptz'),
        ('matter__id', 'varchar'),
        ('calendar_owner__id', 'varchar'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as calendar_entry_id,
        cast("summary" as varchar) as summary,
        {{ to_utc('"start_at"') }} as start_at,
        {{ to_utc('"end_at"') }} as end_at,
        {{ to_id('"matter__id"') }} as matter_id,
        {{ to_id('"calendar_owner__id"') }} as user_id,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
