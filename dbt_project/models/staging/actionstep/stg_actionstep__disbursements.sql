-- grain: one row per raw_actionstep.disbursements row
with

source as (

    {{ source_or_empty('actionstep', 'disbursements', [
        ('id', 'varchar'),
        ('date', 'date'),
        ('description', 'varchar'),
        ('quantity', 'decimal(18,4)'),
        ('unit_price', 'decimal(18,2)'),
        ('amount', 'decimal(18,2)'),
        ('links__action', 'varchar'),
        ('links__utbms_expense_code', 'varchar'),
        ('links__bill', 'varchar'),
        ('modified_timestamp', 'timestamptz'),
        ('_dlt_load_id', 'varchar'),
        ('_dlt_id', 'varchar')
    ]) }}

),

renamed as (

    select
        {{ to_id('"id"') }} as disbursement_id,
        cast("date" as date) as entry_date,
        cast("description" as varchar) as description,
        cast("quantity" as decimal(18, 4)) as quantity,
        {{ to_money('"unit_price"') }} as unit_price,
        {{ to_money('"amount"') }} as amount,
        {{ to_id('"links__action"') }} as action_id,
        cast("links__utbms_expense_code" as varchar) as expense_code,
        {{ to_id('"links__bill"') }} as bill_id,
        {{ to_utc('"modified_timestamp"') }} as updated_at,
        cast("_dlt_load_id" as varchar) as dlt_load_id,
        cast("_dlt_id" as varchar) as dlt_id

    from source

)

select * from renamed
