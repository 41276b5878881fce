"""The office's life under the regulator and the working groups: who may act on what
(``authority``), licences and the requests about them (``licences``, ``licencechanges``,
``licencestatus``, ``licencelog``, ``lifecycle``), violation cases and fines (``violations``,
``fines``), reports and working hours (``reports``, ``hours``), the office's record
(``officerecord``), and the programmes that rank offices (``evaluation``, ``ranking``). Only a
supervisor decides here; an agency never cuts an office off."""
