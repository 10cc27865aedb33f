-- grain: one row per raw_ebilling.status_history row
with

source as (

    {{ source_or_empty('ebilling', 'status_history', [
        ('id', 'varchar'),
        ('invoice_id', 'varchar'),
        ('invoice_number', 'varchar'),
        ('status', 'varchar'),
        ('at', 'timestamptz'),
        ('reason_text', 'varchar'),
        ('comment', 'varchar'),
        ('last_modified', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as status_event_id,
        {{ to_id('"invoice_id"') }} as ebilling_invoice_id,
        cast("invoice_number" as varchar) as invoice_number,
        cast("status" as varchar) as status,
        {{ to_utc('"at"') }} as status_at,
        cast("reason_text" as varchar) as reason_text,
        cast("comment" as varchar) as comment,
        {{ to_utc('"last_modified"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
