-- grain: one row per raw_ebilling.quarantine row
with

source as (

    {{ source_or_empty('ebilling', 'quarantine', [
        ('source', 'varchar'),
        ('resource', 'varchar'),
        ('load_id', 'varchar'),
        ('raw_record', 'varchar'),
        ('reason', 'varchar'),
        ('file', 'varchar'),
        ('line', 'bigint'),
        ('field', 'varchar')
    ]) }}

),

renamed as (

    select
        cast("source" as varchar) as source,
        cast("resource" as varchar) as resource,
        cast("load_id" as varchar) as load_id,
        cast("raw_record" as varchar) as raw_record,
        cast("reason" as varchar) as reason,
        cast("file" as varchar) as file_name,
        cast("line" as bigint) as line_number,
        cast("field" as varchar) as field_name

    from source

)

select * from renamed
