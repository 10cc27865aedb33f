-- grain: one row per raw_actionstep.billlines row
with

source as (

    {{ source_or_empty('actionstep', 'billlines', [
        ('id', 'varchar'),
        ('links__bill', 'varchar'),
        ('links__timeentry', 'varchar'),
        ('links__disbursement', 'varchar'),
        ('line_number', 'varchar'),
        ('line_type', 'varchar'),
        ('date', 'date'),
        ('description', 'varchar'),
        ('quantity', 'decimal(18,4)'),
        ('unit_price', 'decimal(18,2)'),
        ('adjustment', 'decimal(18,2)'),
        ('amount', 'decimal(18,2)'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as bill_line_id,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_id('"links__timeentry"') }} as time_entry_id,
        {{ to_id('"links__disbursement"') }} as disbursement_id,
        cast("line_number" as varchar) as line_number,
        cast("line_type" as varchar) as line_type,
        cast("date" as date) as line_date,
        cast("description" as varchar) as description,
        cast("quantity" as decimal(18, 4)) as quantity,
        {{ to_money('"unit_price"') }} as unit_price,
        {{ to_money('"adjustment"') }} as adjustment,
        {{ to_money('"amount"') }} as amount,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
