"""What a service may cost: the approved tariff schedules and their provincial and law-priced
variants (``tariffs``), their yearly changes (``tariffchanges``), licence fees (``licencefees``)
and the catalogue an office sells from (``catalog``). Money is integer rials throughout."""
