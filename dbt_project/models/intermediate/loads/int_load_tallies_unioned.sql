-- grain: one row per load_id, source and resource, across every raw dataset
with

{% set systems = ['clio', 'actionstep', 'ebilling', 'ledes', 'sales'] %}
{% for system in systems %}
{{ system }}_tallies as (

    select * from {{ ref('stg_' ~ system ~ '__load_tallies') }}

),
{% endfor %}

final as (
{% for system in systems %}
    select '{{ system }}' as dataset, * from {{ system }}_tallies
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select * from final
