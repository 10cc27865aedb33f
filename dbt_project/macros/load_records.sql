{#
    The two bookkeeping tables every raw dataset has (written by ingestion's ledger), staged the
    same way for every system: one implementation, called by each system's staging model.
    - stage_load_tally(system): raw_<system>.load_tally (received / loaded / quarantined per load
      and resource, with money sums), so received = loaded + quarantined can be tested.
    - stage_quarantine(system): raw_<system>.quarantine (bad records kept with their reason).
#}

{% macro stage_load_tally(system) %}
with

source as (

    {{ source_or_empty(system, 'load_tally', [
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
{% endmacro %}


{% macro stage_quarantine(system) %}
with

source as (

    {{ source_or_empty(system, 'quarantine', [
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
{% endmacro %}
