import 'reflect-metadata';
import { runDashboard } from './bootstrap/run-dashboard.js';

await runDashboard();
