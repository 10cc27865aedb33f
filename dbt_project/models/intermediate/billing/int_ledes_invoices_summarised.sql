-- grain: one row per LEDES INVOICE_NUMBER in the submitted files
-- (the spec says only the first INVOICE_DATE / header values per invoice count)
with

ledes_lines as (

    select * from {{ ref('stg_ledes__ledes_lines') }}

),

ordered as (

    select
        *,
        row_number() over (partition by invoice_number order by file_name, record_no) as record_rank
    from ledes_lines
    where invoice_number is not null

),

final as (

    select
        invoice_number,
        max(case when record_rank = 1 then invoice_date end) as invoice_date,
        max(case when record_rank = 1 then client_id end) as client_code,
        max(case when record_rank = 1 then law_firm_matter_id end) as matter_number,
        max(case when record_rank = 1 then client_matter_id end) as client_matter_id,
        max(case when record_rank = 1 then invoice_total end) as invoice_total,
        max(case when record_rank = 1 then file_name end) as file_name,
        count(distinct file_name) as file_count,
        count(*) as line_count,
        sum(line_item_total) as sum_line_item_total,
        sum(case when exp_fee_inv_adj_type in ('F', 'IF') then line_item_total else 0 end) as fees_total,
        sum(case when exp_fee_inv_adj_type in ('E', 'IE') then line_item_total else 0 end) as expenses_total
    from ordered
    group by invoice_number

)

select * from final
