{#- Fails for every row where `expression` is not true (null counts as a failure).
    Arguments: expression (SQL over the model's columns), where (optional filter). -#}
{% test expression_is_true(model, expression, where=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where %} and ({{ where }}){% endif %}
{% endtest %}
