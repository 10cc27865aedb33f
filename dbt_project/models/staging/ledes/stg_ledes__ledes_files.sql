-- grain: one row per raw_ledes.ledes_files row
with

source as (

    {{ source_or_empty('ledes', 'ledes_files', [
        ('file', 'varchar'),
        ('sha256', 'varchar'),
        ('format', 'varchar'),
        ('record_count', 'bigint'),
        ('loaded_records', 'bigint'),
        ('quarantined_records', 'bigint'),
        ('size_bytes', 'bigint'),
        ('invoice_number', 'varchar'),
        ('invoice_total', 'varchar'),
        ('status', 'varchar'),
        ('file_modified_ns', 'bigint'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        cast("file" as varchar) as file_name,
        cast("sha256" as varchar) as file_sha256,
        cast("format" as varchar) as ledes_format,
        cast("record_count" as bigint) as record_count,
        cast("loaded_records" as bigint) as loaded_record_count,
        cast("quarantined_records" as bigint) as quarantined_record_count,
        cast("size_bytes" as bigint) as size_bytes,
        cast("invoice_number" as varchar) as invoice_number,
        {{ ledes_decimal('"invoice_total"') }} as invoice_total,
        cast("status" as varchar) as status,
        cast("file_modified_ns" as bigint) as file_modified_ns,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
