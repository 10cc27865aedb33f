-- grain: one row per raw_ebilling.load_tally row
with

source as (

    {{ source_or_empty('ebilling', 'load_tally', [
        ('load_id', 'varchar'),
        ('source', 'varchar'),
        ('resource', 'varchar'),
        ('received', 'bigint'),
        ('loaded', 'bigint'),
        ('quarantined', 'bigint'),
        ('redelivered', 'bigint'),
        ('money_column', 'varchar'),
        ('money_received', 'decimal(18,2)'),
        ('money_loaded', 'decimal(18,2)'),
        ('money_quarantined', 'decimal(18,2)'),
        ('loaded_at', 'timestamptz')
    ]) }}

),

renamed as (

    select
        cast("load_id" as varchar) as load_id,
        cast("source" as varchar) as source,
        cast("resource" as varchar) as resource,
        cast("received" as bigint) as received_count,
        cast("loaded" as bigint) as loaded_count,
        cast("quarantined" as bigint) as quarantined_count,
        cast("redelivered" as bigint) as redelivered_count,
        cast("money_column" as varchar) as money_column,
        {{ to_money('"money_received"') }} as money_received,
        {{ to_money('"money_loaded"') }} as money_loaded,
        {{ to_money('"money_quarantined"') }} as money_quarantined,
        {{ to_utc('"loaded_at"') }} as loaded_at

    from source

)

select * from renamed
