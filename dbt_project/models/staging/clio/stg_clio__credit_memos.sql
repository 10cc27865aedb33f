-- grain: one row per raw_clio.credit_memos row
with

source as (

    {{ source_or_empty('clio', 'credit_memos', [
        ('id', 'varchar'),
        ('date', 'date'),
        ('amount', 'decimal(18,2)'),
        ('reason', 'varchar'),
        ('bill__id', 'varchar'),
        ('updated_at', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as credit_memo_id,
        cast("date" as date) as write_off_date,
        {{ to_money('"amount"') }} as amount,
        cast("reason" as varchar) as reason,
        {{ to_id('"bill__id"') }} as bill_id,
        {{ to_utc('"updated_at"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
